"""Values: outcomes, calls, errors, and their text and JSON forms. No Trio; imports no other layer."""
