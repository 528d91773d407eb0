print("kessai")
