"""The child process: start it, tee its output, forward signals, sample it, finalise the run."""
