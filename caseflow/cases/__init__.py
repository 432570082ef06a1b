"""The complaint domain: workflow, routing, operations and queries."""
