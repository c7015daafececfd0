"""Reading JSON bodies by their bytes, shared by the body layer, the wires and the rules:
the codec the router reads and writes JSON with (jsoncodec), values kept by the bytes they
were made from (memo), and requests kept cut at their messages' ends (cuts).

May import nothing of hotswap but itself: everything that reads a body imports it.
"""
