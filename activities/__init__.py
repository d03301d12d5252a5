"""Every side effect a workflow needs: database writes and provider calls."""
