"""The simulated camera fleet: realistic scenes encoded once, served over real RTSP by GStreamer."""
