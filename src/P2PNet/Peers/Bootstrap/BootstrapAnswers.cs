using System.Net.Http.Headers;
using System.Text.Json;
using P2PNet.Core;

namespace P2PNet.Peers.Bootstrap;

/// <summary>Reading and checking server answers: bounded bodies, envelopes, signatures.</summary>
internal static class BootstrapAnswers
{
    /// <summary>Reads a body of at most <paramref name="maxBytes"/> (checked before and while reading).</summary>
    public static async Task<byte[]> ReadBoundedAsync(HttpContent content, int maxBytes, CancellationToken cancellationToken)
    {
        if (content.Headers.ContentLength is long declared && declared > maxBytes)
            throw new BootstrapException(BootstrapError.MalformedAnswer, $"answer of {declared} bytes exceeds the limit of {maxBytes}");
        var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var buffer = new MemoryStream();
            byte[] chunk = new byte[8192];
            int read;
            while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > maxBytes)
                    throw new BootstrapException(BootstrapError.MalformedAnswer, $"answer exceeds the limit of {maxBytes} bytes");
                buffer.Write(chunk, 0, read);
            }
            return buffer.ToArray();
        }
    }

    /// <summary>
    /// Opens an envelope: checks its kind and, when it carries a signature, that the signature verifies for
    /// the signer's key. Returns the payload bytes and the signer (null when unsigned).
    /// </summary>
    public static (byte[] Payload, PeerId? Signer) Open(byte[] body, string expectedKind)
    {
        BootstrapEnvelope? envelope;
        byte[] payload;
        try
        {
            envelope = JsonSerializer.Deserialize(body, BootstrapJsonContext.Default.BootstrapEnvelope);
            if (envelope is null) throw new BootstrapException(BootstrapError.MalformedAnswer, "empty answer");
            // Null when the answer omits it or says null (found by fuzzing).
            if (envelope.Payload is null) throw new BootstrapException(BootstrapError.MalformedAnswer, "answer envelope has no payload");
            payload = Convert.FromBase64String(envelope.Payload);
        }
        catch (Exception ex) when (ex is JsonException or FormatException)
        {
            throw new BootstrapException(BootstrapError.MalformedAnswer, $"malformed answer envelope: {ex.Message}", ex);
        }
        if (envelope.Kind != expectedKind)
            throw new BootstrapException(BootstrapError.MalformedAnswer, $"expected a '{expectedKind}' answer, got '{envelope.Kind}'");
        if (envelope.Signature is null && envelope.Signer is null) return (payload, null);
        if (envelope.Signature is null || envelope.Signer is null || !PeerId.TryParse(envelope.Signer, out var signer))
            throw new BootstrapException(BootstrapError.BadSignature, "answer has an incomplete or malformed signature");
        PublicKey? key;
        byte[] signature;
        try
        {
            key = signer.TryGetPublicKey();
            signature = Convert.FromBase64String(envelope.Signature);
        }
        catch (FormatException ex)
        {
            throw new BootstrapException(BootstrapError.BadSignature, "answer signature or signer key is malformed", ex);
        }
        if (key is null || !key.Verify(BootstrapSigning.AnswerBytes(envelope.Kind, payload), signature))
            throw new BootstrapException(BootstrapError.BadSignature, $"answer signature does not verify for signer {signer}");
        return (payload, signer);
    }

    /// <summary>Throws the typed error for a non-success response.</summary>
    public static async Task ThrowIfFailedAsync(HttpResponseMessage response, Uri url, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode) return;
        string detail = "";
        try
        {
            byte[] body = await ReadBoundedAsync(response.Content, 4096, cancellationToken).ConfigureAwait(false);
            if (response.Content.Headers.ContentType is MediaTypeHeaderValue { MediaType: "application/json" })
            {
                var error = JsonSerializer.Deserialize(body, BootstrapJsonContext.Default.BootstrapErrorAnswer);
                if (error is not null) detail = $": {error.Error} ({error.Detail})";
            }
        }
        catch (Exception ex) when (ex is JsonException or BootstrapException or IOException)
        {
            // The status code alone says enough.
        }
        var kind = (int)response.StatusCode is >= 400 and < 500 ? BootstrapError.Refused : BootstrapError.Unreachable;
        throw new BootstrapException(kind, $"bootstrap server {url} answered {(int)response.StatusCode} {response.ReasonPhrase}{detail}");
    }
}
