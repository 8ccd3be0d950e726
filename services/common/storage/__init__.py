"""Where data lives: the artifact store and its layout, hidden-state files, datasets, exports."""
