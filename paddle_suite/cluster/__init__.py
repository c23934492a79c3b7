"""Processes and devices: data-parallel state under Paddle's launcher, the device a run
uses, and the signals a scheduler sends before it stops a job."""
