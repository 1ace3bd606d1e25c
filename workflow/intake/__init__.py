"""What comes in from spreadsheets: reading CSV/xlsx, the roster, and committees' case sheets."""
