"""Template tags of the EDC's web pages."""
