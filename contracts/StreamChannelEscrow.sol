// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title StreamChannelEscrow
/// @notice A unidirectional payment-channel escrow for TIP-20 / ERC-20 tokens, written for
///         mppkit from the function list and semantics of draft-tempo-session-00
///         (sessionProtocol "v1", "Contract-Backed Channel State").
/// @dev    A payer deposits with `open` (and later `topUp`); the payee redeems EIP-712
///         vouchers that carry a CUMULATIVE amount with `settle` (channel stays open) or
///         `close` (payee paid, remainder refunded, channel finalized). A payer whose payee
///         is unresponsive calls `requestClose`, waits CLOSE_GRACE_PERIOD, then `withdraw`s
///         what was never settled. A finalized channel refuses every state change, and its
///         id can never be opened again.
///
///         Voucher signatures: 65-byte (r, s, v) with v in {27, 28}, or 64-byte EIP-2098
///         compact (r, yParityAndS). s must be in the lower half of the curve order. The
///         signer must be the channel's authorizedSigner, or the payer when that is zero.
///
///         `close` verifies a signature only when it moves funds to the payee
///         (cumulativeAmount > settled); closing at exactly the settled amount just refunds
///         the payer what is left and needs no voucher.
///
///         State changes happen before any token call (checks-effects-interactions), so a
///         re-entering token sees the new state.
contract StreamChannelEscrow {
    struct Channel {
        address payer;
        address payee;
        address token;
        address authorizedSigner;
        uint128 deposit;
        uint128 settled;
        uint64 closeRequestedAt;
        bool finalized;
    }

    /// @notice Seconds between `requestClose` and the earliest `withdraw` (15 minutes).
    uint64 public constant CLOSE_GRACE_PERIOD = 15 minutes;

    bytes32 public constant VOUCHER_TYPEHASH = keccak256("Voucher(bytes32 channelId,uint128 cumulativeAmount)");

    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant NAME_HASH = keccak256("Tempo Stream Channel");
    bytes32 private constant VERSION_HASH = keccak256("1");

    /// @dev secp256k1 order / 2: an s above this is the malleable twin of a canonical signature.
    uint256 private constant HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    mapping(bytes32 => Channel) private channels;

    event ChannelOpened(
        bytes32 indexed channelId,
        address indexed payer,
        address indexed payee,
        address token,
        address authorizedSigner,
        uint256 deposit
    );
    event Settled(
        bytes32 indexed channelId,
        address indexed payer,
        address indexed payee,
        uint256 cumulativeAmount,
        uint256 deltaPaid,
        uint256 newSettled
    );
    event CloseRequested(bytes32 indexed channelId, address indexed payer, address indexed payee, uint256 closeGraceEnd);
    event CloseRequestCancelled(bytes32 indexed channelId, address indexed payer, address indexed payee);
    event TopUp(
        bytes32 indexed channelId,
        address indexed payer,
        address indexed payee,
        uint256 additionalDeposit,
        uint256 newDeposit
    );
    /// @param settledToPayee what this call transferred to the payee (0 for `withdraw`)
    /// @param refundedToPayer what this call returned to the payer
    event ChannelClosed(
        bytes32 indexed channelId,
        address indexed payer,
        address indexed payee,
        uint256 settledToPayee,
        uint256 refundedToPayer
    );

    error ChannelAlreadyExists();
    error ChannelNotFound();
    error ChannelFinalized();
    error InvalidSignature();
    error AmountExceedsDeposit();
    error AmountNotIncreasing();
    error NotPayer();
    error NotPayee();
    error TransferFailed();
    error CloseNotReady();
    error CloseAlreadyRequested();
    error InvalidPayee();
    error ZeroAmount();
    error DepositOverflow();

    // ------------------------------------------------------------------ payer

    /// @notice Opens a channel funded with `deposit` of `token` (pulled from the caller,
    ///         who must have approved this contract). The caller becomes the payer.
    function open(address payee, address token, uint128 deposit, bytes32 salt, address authorizedSigner)
        external
        returns (bytes32 channelId)
    {
        if (payee == address(0)) revert InvalidPayee();
        if (deposit == 0) revert ZeroAmount();
        channelId = computeChannelId(msg.sender, payee, token, salt, authorizedSigner);
        if (channels[channelId].payer != address(0)) revert ChannelAlreadyExists();

        channels[channelId] = Channel({
            payer: msg.sender,
            payee: payee,
            token: token,
            authorizedSigner: authorizedSigner,
            deposit: deposit,
            settled: 0,
            closeRequestedAt: 0,
            finalized: false
        });
        emit ChannelOpened(channelId, msg.sender, payee, token, authorizedSigner, deposit);
        _pull(token, msg.sender, deposit);
    }

    /// @notice Adds `additionalDeposit` to an open channel; cancels a pending close request.
    function topUp(bytes32 channelId, uint128 additionalDeposit) external {
        Channel storage channel = _live(channelId);
        if (msg.sender != channel.payer) revert NotPayer();
        if (additionalDeposit == 0) revert ZeroAmount();
        uint256 newDeposit = uint256(channel.deposit) + additionalDeposit;
        if (newDeposit > type(uint128).max) revert DepositOverflow();

        channel.deposit = uint128(newDeposit);
        if (channel.closeRequestedAt != 0) {
            channel.closeRequestedAt = 0;
            emit CloseRequestCancelled(channelId, channel.payer, channel.payee);
        }
        emit TopUp(channelId, channel.payer, channel.payee, additionalDeposit, newDeposit);
        _pull(channel.token, msg.sender, additionalDeposit);
    }

    /// @notice Starts the forced-close grace period.
    function requestClose(bytes32 channelId) external {
        Channel storage channel = _live(channelId);
        if (msg.sender != channel.payer) revert NotPayer();
        if (channel.closeRequestedAt != 0) revert CloseAlreadyRequested();

        channel.closeRequestedAt = uint64(block.timestamp);
        emit CloseRequested(channelId, channel.payer, channel.payee, block.timestamp + CLOSE_GRACE_PERIOD);
    }

    /// @notice After the grace period, refunds everything not settled and finalizes.
    function withdraw(bytes32 channelId) external {
        Channel storage channel = _live(channelId);
        if (msg.sender != channel.payer) revert NotPayer();
        uint64 requestedAt = channel.closeRequestedAt;
        if (requestedAt == 0 || block.timestamp < uint256(requestedAt) + CLOSE_GRACE_PERIOD) revert CloseNotReady();

        uint128 refund = channel.deposit - channel.settled;
        channel.finalized = true;
        emit ChannelClosed(channelId, channel.payer, channel.payee, 0, refund);
        _push(channel.token, channel.payer, refund);
    }

    // ------------------------------------------------------------------ payee

    /// @notice Redeems a voucher for `cumulativeAmount` (a running total, not a delta);
    ///         pays the payee `cumulativeAmount - settled`. The channel stays open.
    function settle(bytes32 channelId, uint128 cumulativeAmount, bytes calldata signature) external {
        Channel storage channel = _live(channelId);
        if (msg.sender != channel.payee) revert NotPayee();
        uint128 previous = channel.settled;
        if (cumulativeAmount <= previous) revert AmountNotIncreasing();
        if (cumulativeAmount > channel.deposit) revert AmountExceedsDeposit();
        _verify(channel, channelId, cumulativeAmount, signature);

        uint128 delta = cumulativeAmount - previous;
        channel.settled = cumulativeAmount;
        emit Settled(channelId, channel.payer, channel.payee, cumulativeAmount, delta, cumulativeAmount);
        _push(channel.token, channel.payee, delta);
    }

    /// @notice Final settlement: pays the payee `cumulativeAmount - settled`, refunds
    ///         `deposit - cumulativeAmount` to the payer, finalizes the channel.
    function close(bytes32 channelId, uint128 cumulativeAmount, bytes calldata signature) external {
        Channel storage channel = _live(channelId);
        if (msg.sender != channel.payee) revert NotPayee();
        uint128 previous = channel.settled;
        if (cumulativeAmount < previous) revert AmountNotIncreasing();
        if (cumulativeAmount > channel.deposit) revert AmountExceedsDeposit();
        if (cumulativeAmount > previous) _verify(channel, channelId, cumulativeAmount, signature);

        uint128 delta = cumulativeAmount - previous;
        uint128 refund = channel.deposit - cumulativeAmount;
        channel.settled = cumulativeAmount;
        channel.finalized = true;
        emit ChannelClosed(channelId, channel.payer, channel.payee, delta, refund);
        _push(channel.token, channel.payee, delta);
        _push(channel.token, channel.payer, refund);
    }

    // ------------------------------------------------------------------ views

    function getChannel(bytes32 channelId) external view returns (Channel memory) {
        return channels[channelId];
    }

    /// @notice keccak256(abi.encode(payer, payee, token, salt, authorizedSigner, this, chainid)).
    function computeChannelId(address payer, address payee, address token, bytes32 salt, address authorizedSigner)
        public
        view
        returns (bytes32)
    {
        return keccak256(abi.encode(payer, payee, token, salt, authorizedSigner, address(this), block.chainid));
    }

    /// @notice The EIP-712 domain separator: name "Tempo Stream Channel", version "1",
    ///         this chain, this contract.
    function domainSeparator() public view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, block.chainid, address(this)));
    }

    /// @notice The EIP-712 digest a signer signs for Voucher(channelId, cumulativeAmount).
    function getVoucherDigest(bytes32 channelId, uint128 cumulativeAmount) public view returns (bytes32) {
        bytes32 structHash = keccak256(abi.encode(VOUCHER_TYPEHASH, channelId, cumulativeAmount));
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator(), structHash));
    }

    // ------------------------------------------------------------------ internal

    /// @dev The channel, which must exist and not be finalized.
    function _live(bytes32 channelId) private view returns (Channel storage channel) {
        channel = channels[channelId];
        if (channel.payer == address(0)) revert ChannelNotFound();
        if (channel.finalized) revert ChannelFinalized();
    }

    function _verify(Channel storage channel, bytes32 channelId, uint128 cumulativeAmount, bytes calldata signature)
        private
        view
    {
        address expected = channel.authorizedSigner == address(0) ? channel.payer : channel.authorizedSigner;
        // expected is never zero (a channel's payer is not), so a failed recovery (0) never matches.
        if (_recover(getVoucherDigest(channelId, cumulativeAmount), signature) != expected) revert InvalidSignature();
    }

    /// @dev ecrecover over a 65- or 64-byte signature; address(0) for anything malformed,
    ///      including a high-s (malleable) signature.
    function _recover(bytes32 digest, bytes calldata signature) private pure returns (address) {
        bytes32 r;
        bytes32 s;
        uint8 v;
        if (signature.length == 65) {
            r = bytes32(signature[0:32]);
            s = bytes32(signature[32:64]);
            v = uint8(signature[64]);
        } else if (signature.length == 64) {
            r = bytes32(signature[0:32]);
            bytes32 vs = bytes32(signature[32:64]);
            s = vs & bytes32(type(uint256).max >> 1);
            v = uint8(uint256(vs) >> 255) + 27;
        } else {
            return address(0);
        }
        if (uint256(s) > HALF_ORDER) return address(0);
        // ecrecover itself returns 0 for a v other than 27 or 28, and for r or s out of range.
        return ecrecover(digest, v, r, s);
    }

    function _pull(address token, address from, uint256 amount) private {
        _call(token, abi.encodeWithSelector(0x23b872dd, from, address(this), amount)); // transferFrom
    }

    function _push(address token, address to, uint256 amount) private {
        if (amount == 0) return;
        _call(token, abi.encodeWithSelector(0xa9059cbb, to, amount)); // transfer
    }

    /// @dev A token call that must not revert and must return true or nothing; the token
    ///      must be a contract (or a precompile such as TIP-20), never an empty account.
    function _call(address token, bytes memory data) private {
        (bool ok, bytes memory result) = token.call(data);
        if (!ok || (result.length == 0 ? token.code.length == 0 : !(result.length == 32 && abi.decode(result, (bool))))) {
            revert TransferFailed();
        }
    }
}
