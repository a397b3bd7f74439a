"""What real Twenty servers answered, and the format the recorder and the replay share (recording.py)."""
