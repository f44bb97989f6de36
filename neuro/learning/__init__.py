"""On-chip learning: trace-based sum-of-products rules in float and Loihi arithmetic."""
