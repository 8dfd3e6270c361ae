"""keras_prov's integrations with other libraries; each module is imported only when its library is in use."""
