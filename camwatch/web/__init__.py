"""The web interface served by the daemon: overview, camera wall, camera pages (see `app`)."""
