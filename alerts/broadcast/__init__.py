"""Cell broadcast, the domain side: the text phones show (texts), and the worker that writes
and kills messages on the operators' CBCs with their status (cbcore's part). The protocol is
channels.cell_broadcast's."""
