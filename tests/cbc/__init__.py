"""The real OsmoCBC in the suite, and a fake CBSP BSC at its far edge."""
