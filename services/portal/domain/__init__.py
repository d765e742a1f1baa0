"""The portal's pure rules: who sees which pages, periods, and what a form must hold before it is sent."""
