"""The config layer: YAML files and `-o` overrides in, a validated config out. It reads
PaddleClas's configs too, and it is the one place that turns a bad value into a
`ConfigError` naming the file, the key and the line."""
