"""Cell broadcast: the pages of a CBS message (encoding), the message identifiers phones listen
to (identifiers), serial numbers (serial) and a Cell Broadcast Centre's ECBE REST API (ecbe).
Pure protocol: nothing here imports the app."""
