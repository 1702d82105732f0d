"""One module per schema revision, named and identified NNNN_what (e.g. 0001_initial)."""
