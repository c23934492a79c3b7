"""Plumbing every layer uses: YAML read with limits, keyword checks against a callable's
signature (with did-you-mean hints), and the process's random states as plain data."""
