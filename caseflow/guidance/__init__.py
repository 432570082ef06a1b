"""Before and beside a complaint: the published complaint channels, the FAQ and the rules it cites."""
