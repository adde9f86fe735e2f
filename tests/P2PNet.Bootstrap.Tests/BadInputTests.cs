using System.Net;
using System.Text;
using P2PNet.Core;
using P2PNet.Peers.Bootstrap;

namespace P2PNet.Bootstrap.Tests;

/// <summary>Hostile registrations and queries are refused with a reason; the store stays intact.</summary>
public sealed class BadInputTests
{
    [Fact]
    public async Task Unsigned_wrongly_signed_stale_and_replayed_registrations_are_refused()
    {
        using var folder = new TempFolder();
        await using var server = await TestServer.StartAsync(folder.Path);
        using var http = new HttpClient();
        using var peer = Identity.Generate();
        using var thief = Identity.Generate();

        async Task Expect(BootstrapRegistration registration, HttpStatusCode status, string code)
        {
            using var response = await TestServer.PostAsync(http, server, registration);
            Assert.Equal(status, response.StatusCode);
            Assert.Equal(code, await TestServer.ErrorCodeAsync(response));
        }

        await Expect(TestServer.Registration(peer) with { Signature = null }, HttpStatusCode.Unauthorized, "unsigned");
        // Someone registering an address under another's PeerId: signed with the wrong key.
        var stolen = BootstrapSigning.Sign(TestServer.Registration(peer) with { Signature = null }, thief);
        await Expect(stolen, HttpStatusCode.Unauthorized, "bad-signature");
        // A valid signature over other fields.
        await Expect(TestServer.Registration(peer) with { Addresses = ["/ip4/6.6.6.6/tcp/1"] }, HttpStatusCode.Unauthorized, "bad-signature");
        await Expect(TestServer.Registration(peer) with { Signature = "not base64!" }, HttpStatusCode.Unauthorized, "bad-signature");
        long old = DateTimeOffset.UtcNow.AddMinutes(-10).ToUnixTimeMilliseconds();
        await Expect(TestServer.Registration(peer, timestamp: old), HttpStatusCode.Unauthorized, "stale");
        long future = DateTimeOffset.UtcNow.AddMinutes(10).ToUnixTimeMilliseconds();
        await Expect(TestServer.Registration(peer, timestamp: future), HttpStatusCode.Unauthorized, "stale");

        var good = TestServer.Registration(peer);
        using (var accepted = await TestServer.PostAsync(http, server, good)) Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        await Expect(good, HttpStatusCode.Conflict, "replayed");
        await Expect(TestServer.Registration(peer, timestamp: good.Timestamp - 1), HttpStatusCode.Conflict, "replayed");
        Assert.Equal(1, await server.Store.CountAsync(0));
        var stored = await server.Store.ListAsync(0, 10);
        Assert.Equal(["/ip4/127.0.0.1/tcp/4001"], stored.Single().Addresses);
    }

    [Theory]
    [InlineData("{\"addresses\":[\"/ip4/127.0.0.1/tcp/4001\"],\"network\":\"test\"}")] // found by fuzz/corpus/bootstrap-server
    [InlineData("{\"peerId\":null,\"addresses\":[\"/ip4/127.0.0.1/tcp/4001\"],\"network\":\"test\"}")]
    [InlineData("{\"peerId\":null,\"addresses\":null,\"network\":null}")]
    public async Task Registration_without_a_peer_id_is_refused_as_invalid(string body)
    {
        using var folder = new TempFolder();
        await using var server = await TestServer.StartAsync(folder.Path);
        using var http = new HttpClient();
        using var response = await http.PostAsync(new Uri(server.Url(), "v1/register"), new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid", await TestServer.ErrorCodeAsync(response));
    }

    [Fact]
    public async Task Malformed_json_and_oversized_bodies_are_refused()
    {
        using var folder = new TempFolder();
        await using var server = await TestServer.StartAsync(folder.Path);
        using var http = new HttpClient();
        var url = new Uri(server.Url(), "v1/register");
        foreach (string body in (string[])["{bad", "[]", "null", "{\"peerId\": 5}", "{\"addresses\": \"x\"}", ""])
        {
            using var response = await http.PostAsync(url, new StringContent(body, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }
        await AssertTooLargeAsync(() => http.PostAsync(url, new StringContent("{\"peerId\":\"" + new string('a', 100_000) + "\"}", Encoding.UTF8, "application/json")));
        // Without Content-Length (chunked): Kestrel's body limit stops the read.
        await AssertTooLargeAsync(() =>
        {
            var chunked = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes("{\"peerId\":\"" + new string('a', 100_000) + "\"}")));
            chunked.Headers.ContentType = new("application/json");
            var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = chunked };
            request.Headers.TransferEncodingChunked = true;
            return http.SendAsync(request);
        });
        using var identity = Identity.Generate();
        using (var tooMany = await TestServer.PostAsync(http, server, BootstrapSigning.Sign(TestServer.Registration(identity) with
        {
            Addresses = [.. Enumerable.Range(1, 17).Select(i => $"/ip4/127.0.0.1/tcp/{i}")],
        }, identity)))
        {
            Assert.Equal(HttpStatusCode.BadRequest, tooMany.StatusCode);
        }
        Assert.Equal(0, await server.Store.CountAsync(0));
    }

    /// <summary>
    /// An oversized body is refused with 413, or, when the server answers and closes before the client
    /// finished uploading, with the upload cut off (a broken pipe): either way nothing is accepted.
    /// </summary>
    private static async Task AssertTooLargeAsync(Func<Task<HttpResponseMessage>> send)
    {
        try
        {
            using var response = await send();
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        }
        catch (HttpRequestException ex) when (ex.InnerException is IOException)
        {
        }
    }

    [Fact]
    public async Task Sql_metacharacters_in_every_field_are_data_not_code()
    {
        using var folder = new TempFolder();
        await using var server = await TestServer.StartAsync(folder.Path);
        using var http = new HttpClient();
        using var honest = Identity.Generate();
        using (var ok = await TestServer.PostAsync(http, server, TestServer.Registration(honest))) Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        const string Sql = "x'); DROP TABLE peers; --\"";
        using var identity = Identity.Generate();

        // PeerId and address are validated: refused before any SQL.
        using (var r = await TestServer.PostAsync(http, server, TestServer.Registration(identity) with { PeerId = Sql }))
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        using (var r = await TestServer.PostAsync(http, server, TestServer.Registration(identity, address: "/ip4/127.0.0.1/tcp/1/" + Sql)))
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        using (var r = await TestServer.PostAsync(http, server, TestServer.Registration(identity) with { Signature = Sql }))
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        // The network name is free text: stored and matched as a literal.
        using (var r = await TestServer.PostAsync(http, server, TestServer.Registration(identity, network: Sql))) Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal([identity.PeerId.ToString()], (await TestServer.PeersAsync(http, server, network: Sql)).Peers.Select(p => p.PeerId));
        Assert.Empty((await TestServer.PeersAsync(http, server, network: "x' OR '1'='1")).Peers);
        Assert.Equal([honest.PeerId.ToString()], (await TestServer.PeersAsync(http, server, peerId: "' OR 1=1 --")).Peers.Select(p => p.PeerId));
        using (var r = await http.GetAsync(new Uri(server.Url(), "v1/peers?network=test&count=1%3BDROP%20TABLE%20peers"))) Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        using (var r = await http.PostAsync(new Uri(server.Url(), "admin/api/peers/" + Uri.EscapeDataString(Sql) + "/block"), null)) Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        Assert.Equal(2, await server.Store.CountAsync(0));
    }

    [Fact]
    public async Task A_flood_of_registrations_is_rate_limited_while_the_server_keeps_answering()
    {
        using var folder = new TempFolder();
        await using var server = await TestServer.StartAsync(folder.Path, o => o.RegistrationsPerMinute = 5);
        using var http = new HttpClient();
        var statuses = await Task.WhenAll(Enumerable.Range(0, 40).Select(async _ =>
        {
            using var identity = Identity.Generate();
            using var response = await TestServer.PostAsync(http, server, TestServer.Registration(identity));
            return response.StatusCode;
        }));
        Assert.Equal(5, statuses.Count(s => s == HttpStatusCode.OK));
        Assert.Equal(35, statuses.Count(s => s == HttpStatusCode.TooManyRequests));
        using (var identity = Identity.Generate())
        using (var limited = await TestServer.PostAsync(http, server, TestServer.Registration(identity)))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
            Assert.Equal("rate-limited", await TestServer.ErrorCodeAsync(limited));
            Assert.NotNull(limited.Headers.RetryAfter);
        }
        // Queries have their own budget: the server still answers.
        using var identityAnswer = await http.GetAsync(new Uri(server.Url(), "v1/identity")).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(HttpStatusCode.OK, identityAnswer.StatusCode);
        Assert.Equal(5, (await TestServer.PeersAsync(http, server)).Peers.Count);
    }

    [Fact]
    public async Task Queries_are_rate_limited_per_client()
    {
        using var folder = new TempFolder();
        await using var server = await TestServer.StartAsync(folder.Path, o => o.QueriesPerMinute = 3);
        using var http = new HttpClient();
        var codes = new List<HttpStatusCode>();
        for (int i = 0; i < 5; i++)
        {
            using var response = await http.GetAsync(new Uri(server.Url(), "v1/peers?network=test"));
            codes.Add(response.StatusCode);
        }
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], codes);
    }
}
