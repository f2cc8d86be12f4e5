"""Generated gRPC contract, package `platepatrol.v1` (made by `make proto`; do not edit by hand)."""
