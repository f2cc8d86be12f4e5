"""PlatePatrol: open parking enforcement.

This package holds what every deployable shares: the command line, plate text rules and the generated
gRPC contract (`platepatrol.v1`). The deployables live beside it: `edge`, `backend`, `calibration`, `models`.
"""

__version__ = "0.1.0"
