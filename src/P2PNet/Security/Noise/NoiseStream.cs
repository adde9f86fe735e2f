using System.Buffers;
using System.Buffers.Binary;
using P2PNet.Core;

namespace P2PNet.Security.Noise;

/// <summary>
/// A connection secured by Noise: every write is sent as 2-byte-length-prefixed ChaChaPoly frames, every read
/// returns decrypted plaintext. Made by <see cref="NoiseHandshake"/>.
/// </summary>
/// <remarks>
/// Not thread-safe per direction: at most one read and one write may be in flight at a time (one reader and
/// one writer may run concurrently). Callers with several writers must serialize them. Disposing the stream
/// disposes the inner stream. After any exception from a read or write the nonces may be out of step with the
/// peer, so the stream must be disposed.
/// <para>
/// The read buffer is rented only while bytes are in flight: a read with nothing buffered first waits with a
/// zero-byte read on the inner stream (Kestrel's socket transport does the same), and the buffer goes back to
/// the pool when a read drains it at a frame boundary, so an idle connection holds none. Inside a frame, and for
/// reads the caller marks as expected (<see cref="IExpectedReadStream"/>: yamux inside a data body), bytes are on
/// their way and the read goes to the inner stream at once, keeping the buffer (a peer that stops mid-frame holds one). A zero-byte read on this stream completes
/// once plaintext may be available, without renting, so the layer above can wait the same way.
/// </para>
/// </remarks>
public sealed class NoiseStream : Stream, IExpectedReadStream, IGatheringWriteStream
{
    /// <summary>Largest plaintext carried by one frame: the Noise message limit minus the AEAD tag.</summary>
    public const int MaxPlaintextPerFrame = NoiseHandshake.MaxMessageLength - NoiseCipherState.TagLength;

    // Room for a whole frame with its prefix (65,537 bytes) wherever the frame starts in the first half, so a large
    // frame whose first bytes came with the previous read is completed in place instead of being moved to the front
    // (a 64 KiB buffer moved almost every full frame: a memmove of up to 64 KiB per frame). Inner reads stop at the
    // end of the current frame plus the next prefix (InnerReadLength), which keeps every frame start in that half.
    private const int ReadBufferSize = 128 * 1024;

    // Largest frame on the wire: the 2-byte prefix and a 65,535-byte message.
    private const int MaxWireFrame = NoiseHandshake.LengthPrefixSize + NoiseHandshake.MaxMessageLength;

    /// <summary>
    /// Plaintext per frame this side sends (it accepts frames up to <see cref="MaxPlaintextPerFrame"/>). Half the
    /// limit: a 64 KiB write then spans two loopback TCP segments (MSS 65,483) in frames the receiver decrypts while the
    /// rest arrives, instead of one frame it can decrypt only when the second segment is in (a read more, often a wake
    /// more). The 64 KiB round trips of `packets` fell about 8% (median of 6 pairs), bulk did not move (`wire`).
    /// </summary>
    internal const int DefaultSendFramePlaintext = 32 * 1024;

    private int _sendFramePlaintext = DefaultSendFramePlaintext;

    /// <summary>Plaintext per sent frame (tests send maximal frames with <see cref="MaxPlaintextPerFrame"/>). Set before the first write.</summary>
    internal int SendFramePlaintext
    {
        get => _sendFramePlaintext;
        set => _sendFramePlaintext = value is >= 1 and <= MaxPlaintextPerFrame ? value : throw new ArgumentOutOfRangeException(nameof(value));
    }

    private const int FrameOverhead = NoiseHandshake.LengthPrefixSize + NoiseCipherState.TagLength;

    // Frames waiting to be sent are gathered into a buffer of at most this size and sent with one inner write.
    private const int SendBufferSize = 256 * 1024;

    // A send buffer starts this small for small writes and grows; writes of LargeWrite bytes or more start at SendBufferSize.
    private const int SmallSendBuffer = 4 * 1024;
    private const int LargeWrite = 8 * 1024;

    private readonly NoiseCipherState _send;
    private readonly NoiseCipherState _receive;
    private readonly IExpectedReadStream? _innerExpected;

    // Holds raw frames read from the inner stream; a frame whose plaintext does not fit the caller's buffer is
    // decrypted in place and served from here by later reads. Rented while bytes are buffered, null otherwise.
    private byte[]? _readBuffer;
    private int _frameLength = -1; // body length of the frame whose prefix was consumed, -1 before a prefix
    private int _rawStart;
    private int _rawCount;
    private int _plainStart;
    private int _plainCount;

    // Encrypted frames not yet sent (rented while non-empty, returned by the send that empties it).
    private byte[]? _sendBuffer;
    private int _sendCount;

    private bool _readFaulted;
    private bool _dataSignalled; // a zero-byte read just saw bytes arrive: the next read need not wait again
    private int _reading;
    private int _writing;
    private int _disposed;

    internal NoiseStream(Stream inner, NoiseCipherState send, NoiseCipherState receive, PublicKey remotePublicKey, PeerId remotePeerId)
    {
        Inner = inner;
        _innerExpected = inner as IExpectedReadStream;
        _send = send;
        _receive = receive;
        RemotePublicKey = remotePublicKey;
        RemotePeerId = remotePeerId;
    }

    /// <summary>Bytes received and not yet handed out (raw or decrypted); the read buffer is rented only while this is non-zero.</summary>
    internal int BufferedBytes => _rawCount + _plainCount;

    /// <summary>True while the read buffer is rented (tests check that an idle stream holds none).</summary>
    internal bool HoldsReadBuffer => Volatile.Read(ref _readBuffer) is not null;

    /// <summary>The authenticated remote peer.</summary>
    public PeerId RemotePeerId { get; }

    /// <summary>The remote's libp2p identity key.</summary>
    public PublicKey RemotePublicKey { get; }

    /// <summary>The raw connection underneath.</summary>
    public Stream Inner { get; }

    /// <inheritdoc />
    public override bool CanRead => _disposed == 0;

    /// <inheritdoc />
    public override bool CanWrite => _disposed == 0;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void Flush() => Inner.Flush();


    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        return Read(buffer.AsSpan(offset, count));
    }

    /// <inheritdoc />
    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (buffer.IsEmpty) return 0;
        EnterRead();
        try
        {
            while (true)
            {
                int result = TryReadBuffered(buffer);
                if (result > 0) return result;
                if (result == 0) continue; // an empty frame: keep going, 0 would mean end of stream
                byte[] raw = _readBuffer ?? RentReadBuffer();
                int read = Inner.Read(raw.AsSpan(_rawStart + _rawCount, InnerReadLength(raw.Length)));
                if (!OnInnerRead(read)) return 0;
            }
        }
        finally
        {
            ReturnReadBufferIfDrained();
            ExitRead();
        }
    }

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    /// <inheritdoc />
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ReadCoreAsync(buffer, expected: false, cancellationToken);

    /// <summary>
    /// A read by a caller inside one of its frames (yamux reading a data body): the bytes are on their way, so the
    /// read goes to the inner stream at once instead of first waiting with a zero-byte read.
    /// </summary>
    ValueTask<int> IExpectedReadStream.ReadExpectedAsync(Memory<byte> buffer, CancellationToken cancellationToken) =>
        ReadCoreAsync(buffer, expected: true, cancellationToken);

    private async ValueTask<int> ReadCoreAsync(Memory<byte> buffer, bool expected, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        EnterRead();
        try
        {
            if (buffer.IsEmpty)
            {
                // Zero-byte read: done when something is buffered, else wait for the inner stream without a buffer.
                if (_plainCount == 0 && _rawCount == 0)
                {
                    await Inner.ReadAsync(Memory<byte>.Empty, cancellationToken).ConfigureAwait(false);
                    _dataSignalled = true;
                }
                return 0;
            }
            while (true)
            {
                int result = TryReadBuffered(buffer.Span);
                if (result > 0) return result;
                if (result == 0) continue;
                byte[]? raw = _readBuffer;
                if (raw is null)
                {
                    if (!_dataSignalled && !expected) await Inner.ReadAsync(Memory<byte>.Empty, cancellationToken).ConfigureAwait(false);
                    raw = RentReadBuffer();
                }
                _dataSignalled = false;
                // Bytes were signalled, a frame is partly here, or the caller expects more: read without another wait.
                int read = await Inner.ReadExpectedAsync(_innerExpected, raw.AsMemory(_rawStart + _rawCount, InnerReadLength(raw.Length)), cancellationToken).ConfigureAwait(false);
                if (!OnInnerRead(read)) return 0;
            }
        }
        finally
        {
            ReturnReadBufferIfDrained();
            ExitRead();
        }
    }

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        Write(buffer.AsSpan(offset, count));
    }

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (buffer.IsEmpty) return;
        EnterWrite();
        byte[] batch = ArrayPool<byte>.Shared.Rent(Math.Min(EncodedLength(buffer.Length), SendBufferSize));
        try
        {
            if (_sendBuffer is { } held)
            {
                // Gathered frames go first, in order.
                int count = _sendCount;
                _sendBuffer = null;
                _sendCount = 0;
                try
                {
                    Inner.Write(held, 0, count);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(held);
                }
            }
            while (!buffer.IsEmpty)
            {
                int used = EncryptBatch(buffer, batch, out int consumed);
                buffer = buffer[consumed..];
                Inner.Write(batch, 0, used);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(batch);
            ExitWrite();
        }
    }

    /// <inheritdoc />
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    /// <inheritdoc />
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (buffer.IsEmpty) return;
        EnterWrite();
        try
        {
            await AppendFramesAsync(buffer, cancellationToken).ConfigureAwait(false);
            await SendHeldAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ExitWrite();
        }
    }

    /// <summary>
    /// Frames <paramref name="data"/> into the send buffer without sending it yet (unless the buffer fills): the yamux
    /// write loop puts a data body in frames of its own and sends several bodies at once on flush.
    /// </summary>
    async ValueTask IGatheringWriteStream.WriteGatheredAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (data.IsEmpty) return;
        EnterWrite();
        try
        {
            await AppendFramesAsync(data, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ExitWrite();
        }
    }

    /// <inheritdoc />
    bool IGatheringWriteStream.HasGatherRoom(int plaintextLength, int writes) =>
        (long)_sendCount + plaintextLength + ((long)writes + plaintextLength / _sendFramePlaintext) * FrameOverhead <= SendBufferSize;

    /// <inheritdoc />
    bool IGatheringWriteStream.TryWriteGathered(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        int needed = _sendCount + EncodedLength(first.Length) + EncodedLength(second.Length);
        if (needed > SendBufferSize) return false;
        EnterWrite();
        try
        {
            byte[] buffer = SendBufferWithRoom(needed, large: first.Length + second.Length >= LargeWrite);
            _sendCount += EncryptBatch(first, buffer.AsSpan(_sendCount), out _);
            _sendCount += EncryptBatch(second, buffer.AsSpan(_sendCount), out _);
            return true;
        }
        finally
        {
            ExitWrite();
        }
    }

    /// <summary>Sends the gathered frames, then flushes the inner stream.</summary>
    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _sendBuffer) is not null)
        {
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            EnterWrite();
            try
            {
                await SendHeldAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                ExitWrite();
            }
        }
        await Inner.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Encrypts <paramref name="data"/> as new frames into the send buffer, sending the buffer first whenever it is full.</summary>
    private async ValueTask AppendFramesAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (!data.IsEmpty)
        {
            int chunk = Math.Min(data.Length, _sendFramePlaintext);
            int needed = _sendCount + chunk + FrameOverhead;
            byte[]? buffer = _sendBuffer;
            if (buffer is null || needed > buffer.Length)
            {
                if (needed > SendBufferSize)
                {
                    await SendHeldAsync(cancellationToken).ConfigureAwait(false);
                    continue;
                }
                buffer = SendBufferWithRoom(needed, large: data.Length + _sendCount >= LargeWrite);
            }
            Span<byte> frame = buffer.AsSpan(_sendCount, chunk + FrameOverhead);
            BinaryPrimitives.WriteUInt16BigEndian(frame, (ushort)(chunk + NoiseCipherState.TagLength));
            _send.EncryptWithAd(ReadOnlySpan<byte>.Empty, data.Span[..chunk], frame[NoiseHandshake.LengthPrefixSize..]);
            _sendCount += frame.Length;
            data = data[chunk..];
        }
    }

    /// <summary>
    /// The send buffer, grown (keeping what it holds) to take <paramref name="needed"/> bytes in all (at most
    /// SendBufferSize): small writes start small and grow; a <paramref name="large"/> one takes the whole send buffer at once.
    /// </summary>
    private byte[] SendBufferWithRoom(int needed, bool large)
    {
        byte[]? buffer = _sendBuffer;
        if (buffer is not null && needed <= buffer.Length) return buffer;
        int size = large ? SendBufferSize : Math.Min(SendBufferSize, Math.Max(needed, Math.Max(SmallSendBuffer, 2 * (buffer?.Length ?? 0))));
        byte[] grown = ArrayPool<byte>.Shared.Rent(size);
        if (buffer is not null)
        {
            buffer.AsSpan(0, _sendCount).CopyTo(grown);
            ArrayPool<byte>.Shared.Return(buffer);
        }
        Volatile.Write(ref _sendBuffer, grown);
        return grown;
    }

    /// <summary>Sends the gathered frames (if any) with one inner write and returns the send buffer to the pool.</summary>
    private async ValueTask SendHeldAsync(CancellationToken cancellationToken)
    {
        byte[]? buffer = _sendBuffer;
        if (buffer is null) return;
        int count = _sendCount;
        Volatile.Write(ref _sendBuffer, null);
        _sendCount = 0;
        try
        {
            await Inner.WriteAsync(buffer.AsMemory(0, count), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        if (disposing)
        {
            Inner.Dispose();
            Release();
        }
        base.Dispose(disposing);
    }

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        if (Volatile.Read(ref _disposed) != 0) return;
        // Close the inner stream asynchronously first; base.DisposeAsync then runs Dispose(true), whose
        // second inner Dispose is a no-op (Stream disposal is idempotent).
        await Inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    private byte[] RentReadBuffer()
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ReadBufferSize);
        _rawStart = 0;
        Volatile.Write(ref _readBuffer, buffer);
        return buffer;
    }

    /// <summary>Called by the reader as a read ends: an empty buffer goes back to the pool until bytes arrive again.</summary>
    private void ReturnReadBufferIfDrained()
    {
        // Inside a frame (its prefix consumed) the rest is on its way: keep the buffer rather than rent it again.
        if (_rawCount != 0 || _plainCount != 0 || _frameLength >= 0) return;
        _rawStart = 0;
        byte[]? buffer = Interlocked.Exchange(ref _readBuffer, null);
        if (buffer is not null) ArrayPool<byte>.Shared.Return(buffer);
    }

    private void Release()
    {
        _send.Dispose();
        _receive.Dispose();
        // Gathered frames never flushed are dropped; a write still in flight may yet touch the buffer (then the GC takes it).
        byte[]? held = Interlocked.Exchange(ref _sendBuffer, null);
        if (held is not null && Volatile.Read(ref _writing) == 0) ArrayPool<byte>.Shared.Return(held);
        // A read still in flight may yet touch the buffer; then leave it to the GC rather than the pool.
        byte[]? buffer = Interlocked.Exchange(ref _readBuffer, null);
        if (buffer is not null && Volatile.Read(ref _reading) == 0) ArrayPool<byte>.Shared.Return(buffer);
    }

    /// <summary>Bytes needed to send <paramref name="plaintextLength"/> bytes: each frame adds a prefix and a tag.</summary>
    private int EncodedLength(int plaintextLength)
    {
        long frames = ((long)plaintextLength + _sendFramePlaintext - 1) / _sendFramePlaintext;
        return (int)Math.Min(int.MaxValue, plaintextLength + frames * (NoiseHandshake.LengthPrefixSize + NoiseCipherState.TagLength));
    }

    /// <summary>
    /// How many bytes the next inner read may take: up to the end of the buffer, but no further than one whole frame
    /// past the start of the current one plus the next prefix. Large frames then start near the front of the buffer
    /// and are never moved, while many small frames still arrive with one read.
    /// </summary>
    private int InnerReadLength(int bufferLength)
    {
        int end = _rawStart + _rawCount;
        int frameStart = _frameLength >= 0 ? _rawStart - NoiseHandshake.LengthPrefixSize : _rawStart;
        // Positive: inside a frame fewer than its length are buffered; before a prefix fewer than two bytes are.
        int limit = frameStart + MaxWireFrame + NoiseHandshake.LengthPrefixSize - end;
        return Math.Min(bufferLength - end, limit);
    }

    /// <summary>Encrypts as many frames of <paramref name="plaintext"/> as fit in <paramref name="batch"/>; returns bytes used.</summary>
    private int EncryptBatch(ReadOnlySpan<byte> plaintext, Span<byte> batch, out int consumed)
    {
        const int overhead = NoiseHandshake.LengthPrefixSize + NoiseCipherState.TagLength;
        int used = 0;
        consumed = 0;
        while (consumed < plaintext.Length)
        {
            int chunk = Math.Min(Math.Min(plaintext.Length - consumed, _sendFramePlaintext), batch.Length - used - overhead);
            if (chunk <= 0) break;
            Span<byte> frame = batch.Slice(used, overhead + chunk);
            BinaryPrimitives.WriteUInt16BigEndian(frame, (ushort)(chunk + NoiseCipherState.TagLength));
            _send.EncryptWithAd(ReadOnlySpan<byte>.Empty, plaintext.Slice(consumed, chunk), frame[NoiseHandshake.LengthPrefixSize..]);
            used += frame.Length;
            consumed += chunk;
        }
        return used;
    }

    /// <summary>
    /// Serves the read from buffered data: returns the bytes copied (&gt; 0), 0 after consuming an empty frame,
    /// or -1 when more input is needed (the buffer is then ready for an inner read at _rawStart + _rawCount).
    /// </summary>
    private int TryReadBuffered(Span<byte> destination)
    {
        // After a failed frame the receive nonce is out of step for good: refuse further reads.
        if (_readFaulted && _plainCount == 0) throw new NoiseException(NoiseError.DecryptFailed, "the Noise stream failed earlier and cannot be read");
        byte[]? buffer = Volatile.Read(ref _readBuffer);
        if (buffer is null)
        {
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            return -1; // nothing buffered: the caller rents once bytes arrive
        }
        if (_plainCount > 0) return TakePlaintext(buffer, destination);
        if (_frameLength < 0)
        {
            if (_rawCount < NoiseHandshake.LengthPrefixSize) return NeedInput(buffer, NoiseHandshake.LengthPrefixSize);
            int prefix = BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(_rawStart));
            if (prefix < NoiseCipherState.TagLength)
            {
                _readFaulted = true;
                throw new NoiseException(NoiseError.DecryptFailed, $"transport frame of {prefix} bytes is shorter than its tag");
            }
            _frameLength = prefix;
            _rawStart += NoiseHandshake.LengthPrefixSize;
            _rawCount -= NoiseHandshake.LengthPrefixSize;
        }
        int length = _frameLength;
        if (_rawCount < length) return NeedInput(buffer, length);

        Span<byte> ciphertext = buffer.AsSpan(_rawStart, length);
        int plaintextLength = length - NoiseCipherState.TagLength;
        int plaintextStart = _rawStart;
        _rawStart += length;
        _rawCount -= length;
        _frameLength = -1;
        // Fits: decrypt straight into the caller's buffer, no extra copy; otherwise in place, served later.
        bool direct = plaintextLength <= destination.Length;
        try
        {
            _receive.DecryptWithAd(ReadOnlySpan<byte>.Empty, ciphertext, direct ? destination : ciphertext);
        }
        catch (NoiseException)
        {
            _readFaulted = true;
            throw;
        }
        if (direct) return plaintextLength;
        _plainStart = plaintextStart;
        _plainCount = plaintextLength;
        return TakePlaintext(buffer, destination);
    }

    private int TakePlaintext(byte[] buffer, Span<byte> destination)
    {
        int n = Math.Min(_plainCount, destination.Length);
        buffer.AsSpan(_plainStart, n).CopyTo(destination);
        _plainStart += n;
        _plainCount -= n;
        return n;
    }

    /// <summary>Makes room for a whole <paramref name="needed"/>-byte unit after _rawStart; returns -1.</summary>
    private int NeedInput(byte[] buffer, int needed)
    {
        if (_rawCount == 0) _rawStart = 0;
        else if (_rawStart + needed > buffer.Length)
        {
            buffer.AsSpan(_rawStart, _rawCount).CopyTo(buffer);
            _rawStart = 0;
        }
        return -1;
    }

    /// <summary>Accounts for an inner read; false on a clean end of stream, throws when it ends mid-frame.</summary>
    private bool OnInnerRead(int read)
    {
        if (read > 0)
        {
            _rawCount += read;
            return true;
        }
        if (_rawCount == 0 && _frameLength < 0) return false;
        throw new NoiseException(NoiseError.Truncated, "connection closed in the middle of a Noise frame");
    }

    private void EnterRead()
    {
        if (Interlocked.Exchange(ref _reading, 1) != 0) throw new InvalidOperationException("concurrent reads on a NoiseStream");
    }

    private void ExitRead()
    {
        Volatile.Write(ref _reading, 0);
    }

    private void EnterWrite()
    {
        if (Interlocked.Exchange(ref _writing, 1) != 0) throw new InvalidOperationException("concurrent writes on a NoiseStream");
    }

    private void ExitWrite() => Volatile.Write(ref _writing, 0);
}
