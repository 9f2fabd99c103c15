pytest_plugins = ["app.factory.pytest_plugin"]
