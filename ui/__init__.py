"""The study web app (``tutor ui``): ``ui.core`` has the logic without Gradio, ``ui.app`` the page."""
