"""The portal (port 8000): the web app people use, a backend-for-frontend over the services' public APIs."""
