{
  "targets": [
    { "target_name": "reactor_addon", "sources": ["addon.cc"] }
  ]
}
