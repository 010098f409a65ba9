"""The dashboard's panels. Each `build()` lays its panel out in the current NiceGUI context and returns the
function that shows a new snapshot in it."""
