"""One module per screen: runs (the main table), run (tabs), compare, and the small dialogs."""
