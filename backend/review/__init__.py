"""The supervisors' review queue: flagged reads accepted as citations or rejected with a reason."""
