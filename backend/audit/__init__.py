"""The audit log: every change made by a person and every plate a person looked up."""
