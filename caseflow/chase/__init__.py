"""Deadlines that enforce themselves: the scan, notifications, figures and the monthly report."""
