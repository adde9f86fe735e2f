using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace P2PNet.Bench;

/// <summary>
/// The baselines every secure figure is judged against, measured in the same run:
/// <list type="bullet">
/// <item>the crypto limit: in-process ChaCha20-Poly1305 encrypt plus decrypt of 64 KiB frames on one core;</item>
/// <item>the serial limit 1/(1/crypto + 1/tcp): a sender that encrypts then writes against a receiver that reads then decrypts;</item>
/// <item>SslStream TLS 1.3 with ECDSA P-256 certificates on both sides (mutual authentication, as Noise XX gives),
/// default cipher suites, no session resumption.</item>
/// </list>
/// </summary>
internal static class Baselines
{
    private const int Frame = 64 * 1024;

    /// <summary>MB/s (10^6 bytes) of ChaCha20-Poly1305 encrypt then decrypt of 64 KiB frames, one thread.</summary>
    public static double CryptoLimit(long totalBytes)
    {
        Span<byte> key = stackalloc byte[32];
        RandomNumberGenerator.Fill(key);
        using var aead = new ChaCha20Poly1305(key);
        byte[] plain = new byte[Frame];
        byte[] cipher = new byte[Frame];
        byte[] back = new byte[Frame];
        byte[] tag = new byte[16];
        byte[] nonce = new byte[12];
        long frames = Math.Max(16, totalBytes / Frame);
        // Warm-up.
        for (int i = 0; i < 8; i++)
        {
            aead.Encrypt(nonce, plain, cipher, tag);
            aead.Decrypt(nonce, cipher, tag, back);
        }
        var sw = Stopwatch.StartNew();
        for (long i = 0; i < frames; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(nonce.AsSpan(4), i);
            aead.Encrypt(nonce, plain, cipher, tag);
            aead.Decrypt(nonce, cipher, tag, back);
        }
        return frames * Frame / sw.Elapsed.TotalSeconds / 1e6;
    }

    /// <summary>1/(1/crypto + 1/tcp): encrypt-then-write against read-then-decrypt, one core each way.</summary>
    public static double SerialLimit(double crypto, double tcp) => 1 / (1 / crypto + 1 / tcp);

    /// <summary>A self-signed ECDSA P-256 certificate with its private key.</summary>
    public static X509Certificate2 Certificate(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pfx), null);
    }

    /// <summary>Server options: TLS 1.3 only, a client certificate required (accepted when present), no resumption.</summary>
    public static SslServerAuthenticationOptions ServerOptions(X509Certificate2 serverCert) => new()
    {
        ServerCertificateContext = SslStreamCertificateContext.Create(serverCert, null, offline: true),
        EnabledSslProtocols = SslProtocols.Tls13,
        ClientCertificateRequired = true,
        RemoteCertificateValidationCallback = static (_, cert, _, _) => cert is not null,
        AllowTlsResume = false,
    };

    /// <summary>Client options: TLS 1.3 only, our own certificate, the server's accepted when present, no resumption.</summary>
    public static SslClientAuthenticationOptions ClientOptions(X509Certificate2 clientCert) => new()
    {
        TargetHost = "localhost",
        EnabledSslProtocols = SslProtocols.Tls13,
        ClientCertificateContext = SslStreamCertificateContext.Create(clientCert, null, offline: true),
        RemoteCertificateValidationCallback = static (_, cert, _, _) => cert is not null,
        AllowTlsResume = false,
    };

    /// <summary>A connected, mutually authenticated TLS 1.3 pair over loopback TCP.</summary>
    public static async Task<(SslStream Client, SslStream Server)> TlsPairAsync(X509Certificate2 clientCert, X509Certificate2 serverCert)
    {
        var (clientRaw, serverRaw) = await ThroughputBench.TcpPairAsync();
        var client = new SslStream(clientRaw, false);
        var server = new SslStream(serverRaw, false);
        await Task.WhenAll(server.AuthenticateAsServerAsync(ServerOptions(serverCert)), client.AuthenticateAsClientAsync(ClientOptions(clientCert)));
        if (!server.IsMutuallyAuthenticated) throw new InvalidOperationException("the TLS baseline must authenticate both sides");
        return (client, server);
    }

    /// <summary>
    /// Framed ping-pong on a TLS 1.3 pair: 4-byte length + payload, the server echoes; round trips in microseconds.
    /// </summary>
    public static async Task<double[]> TlsPingPongAsync(SslStream client, SslStream server, int size, int rounds)
    {
        var echo = Task.Run(async () =>
        {
            var frame = new byte[4 + size];
            for (int i = 0; i < rounds; i++)
            {
                await server.ReadExactlyAsync(frame.AsMemory(0, 4));
                int len = BinaryPrimitives.ReadInt32BigEndian(frame);
                await server.ReadExactlyAsync(frame.AsMemory(4, len));
                await server.WriteAsync(frame.AsMemory(0, 4 + len));
            }
        });
        var ping = new byte[4 + size];
        BinaryPrimitives.WriteInt32BigEndian(ping, size);
        var pong = new byte[4 + size];
        var times = new double[rounds];
        for (int i = 0; i < rounds; i++)
        {
            long start = Stopwatch.GetTimestamp();
            await client.WriteAsync(ping);
            await client.ReadExactlyAsync(pong);
            times[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }
        await echo.WaitAsync(TimeSpan.FromMinutes(1));
        return times;
    }

    /// <summary>Median of <paramref name="values"/>.</summary>
    public static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /// <summary>"median (min–max)" of <paramref name="values"/> with <paramref name="format"/>.</summary>
    public static string Spread(IReadOnlyList<double> values, string format) =>
        $"{Median(values).ToString(format, System.Globalization.CultureInfo.InvariantCulture)} ({values.Min().ToString(format, System.Globalization.CultureInfo.InvariantCulture)}-{values.Max().ToString(format, System.Globalization.CultureInfo.InvariantCulture)})";

}
