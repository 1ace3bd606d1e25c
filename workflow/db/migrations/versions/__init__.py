"""One file per schema revision, oldest first: 0001_core, 0002_…"""
