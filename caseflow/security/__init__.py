"""Security helpers: encryption of personal data, masking, passwords."""
