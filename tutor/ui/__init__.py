"""The Textual front end. Thin: screens show engine state and post messages up."""
