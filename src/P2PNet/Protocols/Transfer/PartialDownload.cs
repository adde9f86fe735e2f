using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace P2PNet.Protocols.Transfer;

/// <summary>
/// A download in progress: the data in <c>&lt;path&gt;.partial</c> at its final offsets, and beside it
/// <c>&lt;path&gt;.partial.bits</c>, a header naming the content and one bit per verified group. The bits of a batch
/// of groups are written right after the batch's bytes, so after a kill -9 (the page cache keeps both) at most the
/// batches being received at that moment are fetched again.
/// </summary>
/// <remarks>
/// Write-behind, on Linux: every <see cref="DropEveryBytes"/> written, a background step writes the data file's dirty
/// pages out (<c>sync_file_range</c>) and tells the kernel it may drop its clean pages (<c>posix_fadvise(DONTNEED)</c>). The page cache then
/// reuses the same few megabytes of pages for the rest of the download instead of taking a fresh page for every 4 KiB
/// of it: copying into fresh pages cost the receiver 1.4–2.7 CPU s per GiB here (a VM whose memory is first touched
/// through the page cache), into reused ones about 0.3 s. The download is therefore not left in the page cache.
/// </remarks>
internal sealed class PartialDownload : IAsyncDisposable
{
    /// <summary>Bytes written between two flush-and-drop steps.</summary>
    internal const long DropEveryBytes = 8L << 20;

    public const string Suffix = ".partial";
    public const string BitsSuffix = ".partial.bits";

    private static ReadOnlySpan<byte> Magic => "P2PBITS1"u8;
    private static readonly int HeaderSize = 8 + ContentId.EncodedSize + 8;

    private readonly Lock _lock = new();
    private readonly SafeFileHandle _data;
    private readonly SafeFileHandle _bits;
    private readonly byte[] _bitfield;
    private long _verifiedGroups;
    private long _sinceDrop;
    private Task _dropping = Task.CompletedTask;
    private bool _canDrop = OperatingSystem.IsLinux();

    private PartialDownload(string destination, long size, SafeFileHandle data, SafeFileHandle bits, byte[] bitfield)
    {
        Destination = destination;
        Size = size;
        _data = data;
        _bits = bits;
        _bitfield = bitfield;
        GroupCount = MerkleTree.GroupCount(size);
        for (long g = 0; g < GroupCount; g++)
            if (IsVerified(g))
            {
                VerifiedBytes += MerkleTree.GroupLength(size, g);
                _verifiedGroups++;
            }
    }

    public string Destination { get; }

    public long Size { get; }

    public long GroupCount { get; }

    /// <summary>Bytes whose groups are verified and on disk.</summary>
    public long VerifiedBytes { get; private set; }

    public bool IsComplete => Volatile.Read(ref _verifiedGroups) == GroupCount;

    /// <summary>Opens the partial download of <paramref name="id"/> for <paramref name="destination"/>, resuming one that matches, else starting afresh.</summary>
    public static PartialDownload Open(string destination, ContentId id, long size)
    {
        string dataPath = destination + Suffix, bitsPath = destination + BitsSuffix;
        long groups = MerkleTree.GroupCount(size);
        byte[] header = new byte[HeaderSize];
        Magic.CopyTo(header);
        id.ToBytes().CopyTo(header, 8);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(8 + ContentId.EncodedSize), size);
        byte[] bitfield = new byte[(groups + 7) / 8];

        var bits = File.OpenHandle(bitsPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        try
        {
            byte[] existing = new byte[HeaderSize];
            bool resume = File.Exists(dataPath) && new FileInfo(dataPath).Length == size
                && RandomAccess.GetLength(bits) == HeaderSize + bitfield.Length
                && RandomAccess.Read(bits, existing, 0) == HeaderSize && existing.AsSpan().SequenceEqual(header)
                && RandomAccess.Read(bits, bitfield, HeaderSize) == bitfield.Length;
            if (!resume)
            {
                Array.Clear(bitfield);
                RandomAccess.SetLength(bits, 0);
                RandomAccess.Write(bits, header, 0);
                RandomAccess.Write(bits, bitfield, HeaderSize);
            }
            // A fresh file reserves its blocks up front (fallocate): a full disk fails here, before anything is fetched,
            // and the writes then fill reserved blocks, which costs the kernel a good part less than growing a sparse file.
            var data = resume
                ? File.OpenHandle(dataPath, FileMode.Open, FileAccess.ReadWrite, FileShare.Read)
                : File.OpenHandle(dataPath, FileMode.Create, FileAccess.ReadWrite, FileShare.Read, FileOptions.None, preallocationSize: size);
            if (!resume) RandomAccess.SetLength(data, size);
            return new PartialDownload(destination, size, data, bits, bitfield);
        }
        catch
        {
            bits.Dispose();
            throw;
        }
    }

    public bool IsVerified(long group) => (_bitfield[group >> 3] & (1 << (int)(group & 7))) != 0;

    /// <summary>Runs of missing groups, each at most <paramref name="maxGroups"/> long, in file order.</summary>
    public IEnumerable<(long First, long Count)> MissingRanges(long from, long end, int maxGroups)
    {
        long g = from;
        while (g < end)
        {
            while (g < end && IsVerified(g)) g++;
            if (g >= end) yield break;
            long start = g;
            while (g < end && !IsVerified(g) && g - start < maxGroups) g++;
            yield return (start, g - start);
        }
    }

    /// <summary>
    /// Writes <paramref name="count"/> consecutive verified groups from <paramref name="first"/> with one write, then
    /// their bits with one more; returns how many of their bytes were not verified before (another provider may have
    /// delivered some meanwhile).
    /// </summary>
    /// <remarks>
    /// Synchronous: a write into the page cache costs less than the thread-pool hop of an async one. The bits are
    /// written per batch the receiver hands over (64 KiB), not per 16 KiB group and not on a timer, so that after a
    /// kill -9 at most one batch per request in flight was verified without its bits reaching the file.
    /// A failed write (full disk, lost permissions) throws <see cref="TransferException"/> (Destination) and sets
    /// no bit, so those groups stay missing and the partial file stays resumable.
    /// </remarks>
    public long WriteGroups(long first, int count, ReadOnlySpan<byte> bytes)
    {
        try
        {
            RandomAccess.Write(_data, bytes, first * MerkleTree.GroupSize);
        }
        catch (IOException ex)
        {
            throw new TransferException(TransferError.Destination, $"cannot write {Destination + Suffix}: {ex.Message}", ex);
        }
        lock (_lock)
        {
            _sinceDrop += bytes.Length;
            if (_sinceDrop >= DropEveryBytes && _dropping.IsCompleted && Volatile.Read(ref _canDrop))
            {
                _sinceDrop = 0;
                _dropping = Task.Run(FlushAndDrop);
            }
            long added = 0;
            for (long g = first; g < first + count; g++)
            {
                if (IsVerified(g)) continue;
                _bitfield[g >> 3] |= (byte)(1 << (int)(g & 7));
                added += MerkleTree.GroupLength(Size, g);
                _verifiedGroups++;
            }
            if (added == 0) return 0;
            VerifiedBytes += added;
            // Under the lock: one byte holds eight groups' bits, and an older value written last would lose a bit.
            int lo = (int)(first >> 3), hi = (int)((first + count - 1) >> 3);
            try
            {
                RandomAccess.Write(_bits, _bitfield.AsSpan(lo, hi - lo + 1), HeaderSize + lo);
            }
            catch (IOException ex)
            {
                throw new TransferException(TransferError.Destination, $"cannot write {Destination + BitsSuffix}: {ex.Message}", ex);
            }
            return added;
        }
    }

    /// <summary>Moves the finished file to its destination and deletes the bitfield.</summary>
    public async Task CompleteAsync(bool overwrite)
    {
        await DisposeAsync().ConfigureAwait(false);
        File.Move(Destination + Suffix, Destination, overwrite);
        File.Delete(Destination + BitsSuffix);
    }

    /// <summary>Waits for the flush-and-drop step in flight, then closes both files.</summary>
    public async ValueTask DisposeAsync()
    {
        Task dropping;
        lock (_lock) dropping = _dropping;
        await dropping.ConfigureAwait(false);
        _data.Dispose();
        _bits.Dispose();
    }

    // Never fails the download: it only decides which pages the kernel keeps. sync_file_range writes the dirty pages
    // out and waits for them without fsync's journal commit and device cache flush (which on a busy disk can take
    // long); fadvise then drops the clean ones. Pages written meanwhile stay dirty and wait for the next step.
    private void FlushAndDrop()
    {
        bool added = false;
        try
        {
            _data.DangerousAddRef(ref added);
            int fd = (int)_data.DangerousGetHandle();
            if (Native.SyncFileRange(fd, 0, 0, Native.SyncWaitBefore | Native.SyncWrite | Native.SyncWaitAfter) != 0
                || Native.PosixFadvise(fd, 0, 0, Native.FadviseDontNeed) != 0)
                Volatile.Write(ref _canDrop, false);
        }
        catch (ObjectDisposedException)
        {
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            Volatile.Write(ref _canDrop, false);
        }
        finally
        {
            if (added) _data.DangerousRelease();
        }
    }

    private static class Native
    {
        public const int FadviseDontNeed = 4; // POSIX_FADV_DONTNEED on Linux
        public const uint SyncWaitBefore = 1, SyncWrite = 2, SyncWaitAfter = 4;

        [DllImport("libc", EntryPoint = "sync_file_range")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int SyncFileRange(int fd, long offset, long length, uint flags);

        [DllImport("libc", EntryPoint = "posix_fadvise")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int PosixFadvise(int fd, long offset, long length, int advice);
    }
}
