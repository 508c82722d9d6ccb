{
  "targets": [
    {
      "target_name": "weft_md5",
      "sources": ["weft-md5.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
