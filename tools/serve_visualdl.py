"""Serve the runs under a log directory in VisualDL, on 127.0.0.1 unless told otherwise:
python tools/serve_visualdl.py [--logdir logs] [--port 8040] [--host 127.0.0.1] [--language en|zh]"""
import argparse
import os
import sys

from paddle_suite.cli import run
from paddle_suite.visual.server import DEFAULT_PORT, page_url, visualdl_command


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--logdir", default="logs", help="folder of run directories")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (0.0.0.0 serves other machines too)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--language", choices=["en", "zh"],
                        help="page language (default: zh under a Chinese locale, else en)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    args = parser.parse_args(argv)
    print(f"VisualDL: {page_url(args.host, args.port)} (Ctrl+C stops it)", flush=True)
    command = visualdl_command(args.logdir, args.host, args.port, args.language)
    # this process becomes the server: a signal to it (Ctrl+C, SIGTERM) reaches VisualDL
    os.execv(command[0], command)


if __name__ == "__main__":
    sys.exit(run(main))
