"""`python manage_all.py bench`: the platform's performance figures, each beside a ceiling
measured in the same run (see runner.py and the README's "Performance" section)."""
