go test fuzz v1
string("mx.example.com")
