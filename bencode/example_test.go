package bencode_test

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/debtorrent/debtorrent/bencode"
)

func ExampleMarshal() {
	type file struct {
		Length int64    `bencode:"length"`
		Path   []string `bencode:"path"`
		MD5    string   `bencode:"md5sum,omitempty"`
	}
	data, err := bencode.Marshal(file{Length: 5, Path: []string{"pool", "a.deb"}})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s\n", data)
	// Output: d6:lengthi5e4:pathl4:pool5:a.debee
}

func ExampleUnmarshal() {
	var v struct {
		Name   string `bencode:"name"`
		Length int64  `bencode:"length"`
	}
	err := bencode.Unmarshal([]byte("d6:lengthi42e4:name5:hello5:otheri1ee"), &v)
	fmt.Println(v.Name, v.Length, err)

	// Non-canonical input gets an error with its offset.
	err = bencode.Unmarshal([]byte("d4:name5:hello6:lengthi42ee"), &v)
	fmt.Println(err)
	// Output:
	// hello 42 <nil>
	// bencode: at offset 14: dict keys not sorted: "length" after "name"
}

func ExampleUnmarshal_any() {
	var v any
	if err := bencode.Unmarshal([]byte("d4:listli1e3:twoee"), &v); err != nil {
		panic(err)
	}
	fmt.Printf("%#v\n", v)
	// Output: map[string]interface {}{"list":[]interface {}{1, "two"}}
}

func ExampleRawMessage() {
	// The infohash is the SHA1 of the info dict's exact bytes.
	torrent := []byte("d8:announce9:http://t/4:infod6:lengthi5e4:name1:xee")
	var mi struct {
		Announce string             `bencode:"announce"`
		Info     bencode.RawMessage `bencode:"info"`
	}
	if err := bencode.Unmarshal(torrent, &mi); err != nil {
		panic(err)
	}
	fmt.Printf("%s\n%x\n", mi.Info, sha1.Sum(mi.Info))
	// Output:
	// d6:lengthi5e4:name1:xe
	// 6e009507d8cfcc2e20e0fbf08e9ad7fd21c2974d
}

func ExampleUnmarshalLoose() {
	// Some real torrents have unsorted keys: the info dict's bytes are kept
	// as they are, so its hash is the one BEP 3 defines.
	torrent := []byte("d4:infod4:name1:x6:lengthi5eee")
	var mi struct {
		Info bencode.RawMessage `bencode:"info"`
	}
	fmt.Println(bencode.Unmarshal(torrent, &mi))
	fmt.Println(bencode.UnmarshalLoose(torrent, &mi), string(mi.Info))
	// Output:
	// bencode: at offset 17: dict keys not sorted: "length" after "name"
	// <nil> d4:name1:x6:lengthi5ee
}

func ExampleDecoder() {
	stream := strings.NewReader("i1e4:spamli2ei3ee")
	dec := bencode.NewDecoder(stream)
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			panic(err)
		}
		fmt.Println(v)
	}
	// Output:
	// 1
	// spam
	// [2 3]
}

func ExampleDecoder_limits() {
	dec := bencode.NewDecoder(strings.NewReader("1000000000:tiny"))
	dec.SetMaxStringLength(1 << 20)
	err := dec.Decode(new(string))
	fmt.Println(err, errors.Is(err, bencode.ErrLimit))
	// Output: bencode: at offset 0: string of 1000000000 bytes is longer than the limit of 1048576 (Decoder.SetMaxStringLength) true
}

func ExampleEncoder() {
	var buf bytes.Buffer
	enc := bencode.NewEncoder(&buf)
	for _, v := range []any{42, "ok", map[string]int{"b": 2, "a": 1}} {
		if err := enc.Encode(v); err != nil {
			panic(err)
		}
	}
	fmt.Println(buf.String())
	// Output: i42e2:okd1:ai1e1:bi2ee
}
