// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text;

namespace HyperDbgRemote.Script.Tests;

/// <summary>An in-memory <see cref="IScriptTarget"/>: registers, paged RAM with a virtual-to-physical map, events,
/// and captured output. Not thread-safe except where a test says so (output and test values are locked).</summary>
internal sealed class TestScriptTarget : IScriptTarget, IScriptSymbolResolver
{
    public const ulong PageSize = 0x1000;

    private readonly ulong[] _registers = new ulong[(int)ScriptRegister.Dr7 + 1];
    private readonly Dictionary<ulong, byte[]> _virtualPages = [];
    private readonly Dictionary<ulong, byte[]> _physicalPages = [];
    private readonly Dictionary<ulong, ulong> _virtualToPhysical = [];
    private readonly Dictionary<string, ulong> _symbols = new(StringComparer.Ordinal);
    private readonly Lock _outputLock = new();
    private readonly StringBuilder _output = new();
    private readonly List<string> _messages = [];
    private readonly List<ulong> _testValues = [];
    private ulong _nextPhysicalPage = 0x100000;

    public HashSet<ulong> KnownEvents { get; } = [];

    public HashSet<ulong> EnabledEvents { get; } = [];

    public HashSet<ScriptRegister> ReadOnlyRegisters { get; } = [];

    public bool ShortCircuit { get; private set; }

    public int PauseCount { get; private set; }

    public int FlushCount { get; private set; }

    public string Output
    {
        get
        {
            lock (_outputLock)
            {
                return _output.ToString();
            }
        }
    }

    public IReadOnlyList<string> Messages
    {
        get
        {
            lock (_outputLock)
            {
                return [.. _messages];
            }
        }
    }

    public IReadOnlyList<ulong> TestValues
    {
        get
        {
            lock (_outputLock)
            {
                return [.. _testValues];
            }
        }
    }

    /// <summary>Called after each <c>test_statement</c> value is recorded, on the running thread (a synchronisation point
    /// for tests: cancel a run, signal another thread).</summary>
    public Action<ulong>? OnTestValue { get; set; }

    /// <summary>Called when the compiler resolves a symbol, on the compiling thread.</summary>
    public Action<string>? OnResolve { get; set; }

    /// <summary>Counts output messages without keeping them (for throughput tests).</summary>
    public bool DiscardOutput { get; set; }

    public long OutputCount { get; private set; }

    public ulong ProcessId { get; set; }

    public ulong ThreadId { get; set; }

    public ulong ProcessNameAddress { get; set; }

    public ulong CoreId { get; set; }

    public ulong ProcessObject { get; set; }

    public ulong ThreadObject { get; set; }

    public ulong Peb { get; set; }

    public ulong Teb { get; set; }

    public ulong InstructionPointer { get; set; }

    public DateTimeOffset Now { get; set; } = new(2026, 11, 24, 8, 5, 9, 42, TimeSpan.Zero);

    public ulong Tsc { get; set; } = 0x1234;

    DateTimeOffset IScriptTarget.LocalTime => Now;

    ulong IScriptTarget.ReadTimeStampCounter() => Tsc++;

    public ulong this[ScriptRegister full]
    {
        get => _registers[(int)full];
        set => _registers[(int)full] = value;
    }

    /// <summary>Maps zeroed pages covering [address, address + size) with fresh physical pages.</summary>
    public void Map(ulong address, ulong size)
    {
        for (ulong page = address & ~(PageSize - 1); page < address + size; page += PageSize)
        {
            if (!_virtualPages.ContainsKey(page))
            {
                byte[] bytes = new byte[PageSize];
                ulong physical = _nextPhysicalPage;
                _nextPhysicalPage += PageSize;
                _virtualPages[page] = bytes;
                _physicalPages[physical] = bytes;
                _virtualToPhysical[page] = physical;
            }
        }
    }

    public void AddSymbol(string name, ulong address) => _symbols[name] = address;

    public void Poke(ulong address, ReadOnlySpan<byte> bytes)
    {
        if (!TryWrite(address, bytes))
        {
            throw new InvalidOperationException($"0x{address:x} is not mapped");
        }
    }

    public byte[] Peek(ulong address, int length)
    {
        byte[] result = new byte[length];
        if (!TryRead(address, result))
        {
            throw new InvalidOperationException($"0x{address:x} is not mapped");
        }

        return result;
    }

    public ulong GetRegister(ScriptRegister fullRegister) => _registers[(int)fullRegister];

    public bool TrySetRegister(ScriptRegister fullRegister, ulong value)
    {
        if (ReadOnlyRegisters.Contains(fullRegister))
        {
            return false;
        }

        _registers[(int)fullRegister] = value;
        return true;
    }

    public bool TryRead(ulong address, Span<byte> destination) => Read(_virtualPages, address, destination);

    public bool TryWrite(ulong address, ReadOnlySpan<byte> source) => Write(_virtualPages, address, source);

    public bool TryReadPhysical(ulong address, Span<byte> destination) => Read(_physicalPages, address, destination);

    public bool TryWritePhysical(ulong address, ReadOnlySpan<byte> source) => Write(_physicalPages, address, source);

    private static bool Read(Dictionary<ulong, byte[]> pages, ulong address, Span<byte> destination)
    {
        byte[] copy = new byte[destination.Length];
        bool ok = Access(pages, address, destination.Length, (page, offset, i, n) => Array.Copy(page, offset, copy, i, n));
        if (ok)
        {
            copy.CopyTo(destination);
        }

        return ok;
    }

    private static bool Write(Dictionary<ulong, byte[]> pages, ulong address, ReadOnlySpan<byte> source)
    {
        byte[] copy = source.ToArray();
        return Access(pages, address, copy.Length, (page, offset, i, n) => Array.Copy(copy, i, page, offset, n));
    }

    public ulong VirtualToPhysical(ulong virtualAddress) =>
        _virtualToPhysical.TryGetValue(virtualAddress & ~(PageSize - 1), out ulong physical) ? physical + (virtualAddress & (PageSize - 1)) : 0;

    public ulong PhysicalToVirtual(ulong physicalAddress)
    {
        foreach ((ulong va, ulong pa) in _virtualToPhysical)
        {
            if (pa == (physicalAddress & ~(PageSize - 1)))
            {
                return va + (physicalAddress & (PageSize - 1));
            }
        }

        return 0;
    }

    void IScriptTarget.Output(ReadOnlySpan<char> text)
    {
        lock (_outputLock)
        {
            OutputCount++;
            if (!DiscardOutput)
            {
                _output.Append(text);
                _messages.Add(text.ToString());
            }
        }
    }

    public bool EventEnable(ulong eventId) => KnownEvents.Contains(eventId) && EnabledEvents.Add(eventId) | true;

    public bool EventDisable(ulong eventId) => KnownEvents.Contains(eventId) && EnabledEvents.Remove(eventId) | true;

    public bool EventClear(ulong eventId) => KnownEvents.Remove(eventId) && EnabledEvents.Remove(eventId) | true;

    public void SetShortCircuit(bool enabled) => ShortCircuit = enabled;

    public void Pause() => PauseCount++;

    public void Flush() => FlushCount++;

    public void RecordTestValue(ulong value)
    {
        lock (_outputLock)
        {
            _testValues.Add(value);
        }

        OnTestValue?.Invoke(value);
    }

    public bool TryResolve(string qualifiedName, out ulong address)
    {
        OnResolve?.Invoke(qualifiedName);
        return _symbols.TryGetValue(qualifiedName, out address);
    }

    private static bool Access(Dictionary<ulong, byte[]> pages, ulong address, int length, Action<byte[], int, int, int> copy)
    {
        int done = 0;
        while (done < length)
        {
            ulong at = address + (ulong)done;
            if (!pages.TryGetValue(at & ~(PageSize - 1), out byte[]? page))
            {
                return false;
            }

            int offset = (int)(at & (PageSize - 1));
            int n = Math.Min(length - done, (int)PageSize - offset);
            done += n;
        }

        done = 0;
        while (done < length)
        {
            ulong at = address + (ulong)done;
            byte[] page = pages[at & ~(PageSize - 1)];
            int offset = (int)(at & (PageSize - 1));
            int n = Math.Min(length - done, (int)PageSize - offset);
            copy(page, offset, done, n);
            done += n;
        }

        return true;
    }
}
