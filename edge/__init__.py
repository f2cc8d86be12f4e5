"""The patrol car: frames from the cameras become one voted read per vehicle pass, streamed to the backend.

Stages, each a module: `capture` (frames), `detect` (plate boxes), `read` (plate text), `track` and `vote`
(one read per pass), `uplink` (gRPC to the backend), `officer` (what the officer sees).
"""
