"""Detection: token rules, the offline checksum, the one-pass scanner, redaction and diff lines."""
