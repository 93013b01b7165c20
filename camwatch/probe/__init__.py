"""Probes: talk to a camera and nothing else. One kind per module, one signature.

A probe never raises for a bad camera: it returns an `Observation` (ok, or a failure with an
`ErrorKind` and a one-line reason), always within the deadline its caller gives it.
"""
