"""What a run captures about code, parameters, environment, hardware and data.

Each capture is a small function whose failure never aborts a run.
"""
